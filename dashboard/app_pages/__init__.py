"""Dashboard pages, routed by ../streamlit_app.py with st.navigation."""
