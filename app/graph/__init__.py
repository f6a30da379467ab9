"""The graph layer: NetworkX structures and algorithms. Imports nothing from FastAPI or SQLModel."""
