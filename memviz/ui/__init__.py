"""The only part of the memviz package that imports streamlit: shared state and widgets of the app."""
