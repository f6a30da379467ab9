"""The graph explorer page, driven in Chromium against a live server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.browser.conftest import XSS_NAME, XSS_QUOTES, Watched

pytestmark = pytest.mark.browser

# In the seed, Bashar Al Assad leads Syria until 2024-12.
ASSAD = "bashar-al-assad"
SLIDER_2024_06 = (2024 - 2020) * 12 + 5
SLIDER_2025_04 = (2025 - 2020) * 12 + 3


def settle(w: Watched) -> None:
    """Wait until no request is in flight and the layout has stopped, then let paint finish."""
    w.page.wait_for_function(
        "() => { const g = document.getElementById('graph');"
        " return g.dataset.busy === '0' && g.dataset.layout === 'idle'; }"
    )
    w.page.wait_for_timeout(400)


def js(w: Watched, expression: str, arg: Any = None) -> Any:
    return w.page.evaluate(expression, arg)


def open_actor(w: Watched, query: str, actor_id: str) -> None:
    """Type into the search box and pick the suggestion for ``actor_id``."""
    w.page.fill("#search", query)
    w.page.locator(f'#suggestions li[data-id="{actor_id}"]').click()
    w.page.wait_for_function(
        "id => window.cy.getElementById(id).length > 0 && "
        "window.cy.getElementById(id).hasClass('anchor')",
        arg=actor_id,
    )
    settle(w)


def pick(w: Watched, selector: str, query: str, actor_id: str) -> None:
    """Type into a path input and choose ``actor_id`` among its suggestions."""
    w.page.fill(selector, query)
    w.page.locator(f'{selector}-suggestions li[data-id="{actor_id}"]').click()
    assert w.page.input_value(selector) == actor_id


def node_ids(w: Watched) -> set[str]:
    return set(js(w, "() => window.cy.nodes().map(n => n.id())"))


def edges_between(w: Watched, a: str, b: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = js(
        w,
        """([a, b]) => window.cy.edges().filter(e =>
        (e.source().id() === a && e.target().id() === b) ||
        (e.source().id() === b && e.target().id() === a)).map(e => e.data())""",
        [a, b],
    )
    return found


def tap(w: Watched, element_id: str) -> None:
    """Tap a node or an edge through Cytoscape (the canvas has no DOM element to click)."""
    w.page.evaluate("id => { window.cy.getElementById(id).emit('tap'); }", element_id)


def set_slider(w: Watched, index: int) -> None:
    w.page.eval_on_selector(
        "#date-slider",
        """(el, v) => {
        el.value = String(v);
        el.dispatchEvent(new Event('input', {bubbles: true}));
        el.dispatchEvent(new Event('change', {bubbles: true}));
    }""",
        index,
    )


def wait_loaded(w: Watched, as_of: str) -> None:
    w.page.wait_for_selector(
        f'#graph[data-loaded-as-of="{as_of}"][data-busy="0"]', state="attached"
    )
    settle(w)


def test_search_draws_the_neighbourhood(explorer: Watched) -> None:
    w = explorer
    w.screenshot("explorer-0-empty")
    w.page.fill("#search", "Iran")
    first = w.page.locator("#suggestions li").first
    first.wait_for(state="visible")
    assert "Iran" in first.inner_text()
    w.screenshot("explorer-1-suggestions")
    first.click()
    w.page.wait_for_function("() => window.cy.getElementById('houthis').length > 0")
    settle(w)
    ids = node_ids(w)
    assert {"iran", "houthis", "israel", "united-states", "xss-probe"} <= ids
    assert js(w, "() => window.cy.getElementById('houthis').data('name')") == "Houthis"
    w.screenshot("explorer-2-iran")


def test_edges_are_styled_by_polarity_and_direction(explorer: Watched) -> None:
    w = explorer
    open_actor(w, "Iran", "iran")
    styles = js(
        w,
        """() => Object.fromEntries(['sponsors', 'rival_of', 'diplomatic_contact']
        .map(t => { const e = window.cy.edges(`[type = "${t}"]`).first();
                    return [t, {colour: e.style('line-color'), line: e.style('line-style'),
                                arrow: e.style('target-arrow-shape'), label: e.style('label'),
                                directed: e.data('directed')}]; }))""",
    )
    assert styles["sponsors"]["directed"] is True
    assert styles["sponsors"]["arrow"] == "triangle"
    assert styles["sponsors"]["colour"] == "rgb(46,157,74)"
    assert styles["sponsors"]["label"] == "sponsors"
    assert styles["rival_of"]["arrow"] == "none"
    assert styles["rival_of"]["colour"] == "rgb(208,52,44)"
    assert styles["diplomatic_contact"]["line"] == "dashed"
    assert styles["diplomatic_contact"]["arrow"] == "none"
    assert styles["diplomatic_contact"]["colour"] == "rgb(138,143,152)"


def test_alliance_path_from_iran_to_hamas_is_highlighted(explorer: Watched) -> None:
    w = explorer
    open_actor(w, "Iran", "iran")
    assert "hamas" not in node_ids(w)
    pick(w, "#path-from", "Iran", "iran")
    pick(w, "#path-to", "Hama", "hamas")
    assert w.page.input_value("#path-to") == "hamas"
    w.page.select_option("#path-mode", "alliance")
    w.page.click("#find-paths")
    w.page.wait_for_function("() => window.cy.$('.highlighted').length > 0")
    settle(w)
    highlighted = set(js(w, "() => window.cy.$('node.highlighted').map(n => n.id())"))
    assert {"iran", "houthis", "hamas"} <= highlighted
    assert js(w, "() => window.cy.$('edge.highlighted').length") >= 2
    # The rest of Iran's neighbourhood stays, not highlighted.
    assert "israel" in node_ids(w) and "israel" not in highlighted
    width = js(w, "() => window.cy.$('edge.highlighted').first().style('width')")
    assert float(width.removesuffix("px")) >= 6
    first = w.page.locator("#paths li").first
    assert "Iran" in first.inner_text() and "Houthis" in first.inner_text()
    assert "Hamas" in first.inner_text()
    w.screenshot("explorer-3-path-iran-hamas")

    # Typed ids work too (Enter submits). Hamas sponsors nobody: no proxy path to Iran.
    w.page.select_option("#path-mode", "proxy")
    w.page.fill("#path-from", "hamas")
    w.page.fill("#path-to", "iran")
    w.page.press("#path-to", "Enter")
    w.page.locator("#paths li", has_text="No path").wait_for()
    settle(w)
    assert js(w, "() => window.cy.$('.highlighted').length") == 0


def test_date_slider_filters_ties(explorer: Watched, server: str) -> None:
    w = explorer
    assert httpx.get(f"{server}/v1/actors/{ASSAD}").json()["name"] == "Bashar Al Assad"
    open_actor(w, "Syria", "syria")
    assert edges_between(w, ASSAD, "syria")  # all dates: he once led it

    set_slider(w, SLIDER_2024_06)
    wait_loaded(w, "2024-06-01")
    assert w.page.inner_text("#date-label") == "as of 2024-06-01"
    assert not w.page.is_checked("#all-dates")
    ties = edges_between(w, ASSAD, "syria")
    assert [t["type"] for t in ties] == ["leads"]
    assert not edges_between(w, "ahmad-al-shara", "syria")  # his term starts 2024-12
    w.screenshot("explorer-4-syria-2024-06")

    set_slider(w, SLIDER_2025_04)
    wait_loaded(w, "2025-04-01")
    assert w.page.inner_text("#date-label") == "as of 2025-04-01"
    assert edges_between(w, ASSAD, "syria") == []
    assert ASSAD not in node_ids(w)
    assert [t["type"] for t in edges_between(w, "ahmad-al-shara", "syria")] == ["leads"]
    w.screenshot("explorer-5-syria-2025-04")

    w.page.check("#all-dates")
    wait_loaded(w, "all")
    assert w.page.inner_text("#date-label") == "no date filter"
    assert edges_between(w, ASSAD, "syria")


def test_clicking_an_edge_shows_its_evidence(explorer: Watched, server: str) -> None:
    w = explorer
    open_actor(w, "Iran", "iran")
    edge = js(
        w,
        """() => window.cy.edges().filter(e => e.data('type') === 'sponsors' &&
        e.target().id() === 'houthis').first().data()""",
    )
    ties = httpx.get(f"{server}/v1/actors/iran/ties", params={"type": "sponsors"}).json()
    rel = next(t for t in ties["items"] if t["counterpart"]["id"] == "houthis")
    tap(w, edge["id"])
    quotes = w.page.locator("#evidence li blockquote")
    quotes.first.wait_for()
    assert quotes.all_inner_texts() == [e["quote"] for e in rel["evidence"]]
    # Each quote names its source, fetched once per source.
    w.page.locator("#evidence .cite", has_text="The National").first.wait_for()
    assert "2025-04-04" in w.page.locator("#evidence .cite").first.inner_text()
    details = w.page.inner_text("#details")
    assert "sponsors" in details and "Houthis" in details and "0.90" in details
    w.screenshot("explorer-6-evidence")


def test_expand_merges_a_neighbourhood(explorer: Watched) -> None:
    w = explorer
    open_actor(w, "Iran", "iran")
    assert "hamas" not in node_ids(w)
    tap(w, "houthis")
    w.page.locator("#expand").click()
    w.page.wait_for_function("() => window.cy.getElementById('hamas').length > 0")
    settle(w)
    ids = node_ids(w)
    assert {"iran", "israel", "houthis", "hamas"} <= ids
    assert js(w, "() => window.cy.getElementById('houthis').hasClass('anchor')")


def test_hostile_names_render_as_text(explorer: Watched, server: str) -> None:
    w = explorer
    w.page.fill("#search", "<img src")
    hit = w.page.locator('#suggestions li[data-id="xss-probe"]')
    hit.wait_for()
    assert XSS_NAME in hit.inner_text()
    w.screenshot("explorer-7-hostile-suggestion")
    hit.click()
    w.page.wait_for_function("() => window.cy.getElementById('iran').length > 0")
    settle(w)
    node = js(
        w,
        """() => { const n = window.cy.getElementById('xss-probe');
                            return {name: n.data('name'), label: n.style('label')}; }""",
    )
    assert node == {"name": XSS_NAME, "label": XSS_NAME}
    w.page.locator("#details .title", has_text=XSS_NAME).wait_for()
    assert w.page.locator("#details .desc").inner_text().startswith("<script>alert(3)</script>")

    edge_id = js(w, "() => window.cy.edges('[type = \"diplomatic_contact\"]').first().id()")
    tap(w, edge_id)
    w.page.locator("#evidence .cite", has_text="Probe <i>Press</i>").first.wait_for()
    assert w.page.locator("#evidence blockquote").all_inner_texts() == XSS_QUOTES
    assert XSS_NAME in w.page.inner_text("#details .title")
    link = w.page.locator("#evidence .cite a").first
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert link.get_attribute("href") == "https://example.org/xss-probe?a=1&b=%3Cb%3E"
    assert link.inner_text() == "https://example.org/xss-probe?a=1&b=<b>"
    assert "“<b>Probe</b> report”" in w.page.locator("#evidence .cite").first.inner_text()

    dom = js(
        w,
        """() => ({imgs: document.querySelectorAll('img, svg, iframe, object').length,
        inlineScripts: [...document.scripts].filter(s => !s.src).length,
        bold: document.querySelectorAll('#panel b, #panel i').length})""",
    )
    assert dom == {"imgs": 0, "inlineScripts": 0, "bold": 0}
    w.page.wait_for_timeout(300)
    assert w.dialogs == []
    w.screenshot("explorer-8-hostile-evidence")


def test_blocs_toggle_colours_nodes(explorer: Watched, server: str) -> None:
    w = explorer
    open_actor(w, "Iran", "iran")
    before = js(w, "() => window.cy.getElementById('iran').style('background-color')")
    w.page.check("#blocs-toggle")
    w.page.wait_for_function(
        "() => window.cy.nodes().length > 0 && window.cy.nodes().every(n => n.hasClass('by-bloc'))"
    )
    settle(w)
    blocs = httpx.get(f"{server}/v1/analytics/blocs").json()["items"]
    bloc_of = {m: b["id"] for b in blocs for m in b["members"]}
    colour = {
        n: js(w, "id => window.cy.getElementById(id).style('background-color')", n)
        for n in ("iran", "houthis", "united-states", "israel")
    }
    assert bloc_of["iran"] == bloc_of["houthis"]
    assert colour["iran"] == colour["houthis"]
    assert bloc_of["iran"] != bloc_of["united-states"]
    assert colour["iran"] != colour["united-states"]
    assert colour["iran"] != before or colour["united-states"] != colour["iran"]
    legend = w.page.locator("#legend li.bloc")
    assert legend.count() >= 3
    assert bloc_of["iran"] in w.page.inner_text("#legend")
    w.screenshot("explorer-9-blocs")

    w.page.uncheck("#blocs-toggle")
    w.page.wait_for_function("() => window.cy.nodes('.by-bloc').length === 0")
    assert js(w, "() => window.cy.getElementById('iran').style('background-color')") == before
    assert w.page.locator("#legend li.bloc").count() == 0


def test_view_survives_a_reload_through_the_url(explorer: Watched) -> None:
    w = explorer
    open_actor(w, "Syria", "syria")
    set_slider(w, SLIDER_2024_06)
    wait_loaded(w, "2024-06-01")
    url = w.page.url
    assert "actors=syria" in url and "as_of=2024-06-01" in url
    w.page.reload()
    wait_loaded(w, "2024-06-01")
    assert w.page.inner_text("#date-label") == "as of 2024-06-01"
    assert edges_between(w, ASSAD, "syria")
    assert json.loads(json.dumps(js(w, "() => window.explorer.state.anchors"))) == ["syria"]
