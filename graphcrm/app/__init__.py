"""Streamlit pages of GraphCRM: each reads its inputs, calls one library function, renders."""
