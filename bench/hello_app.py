"""The reference page of the dashboard benchmark: a hello-world Streamlit app."""
import streamlit as st

st.title("Hello")
st.write("world")
