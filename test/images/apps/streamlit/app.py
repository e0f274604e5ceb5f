# A Streamlit app for the gateway's tests: a widget whose change reruns the script over Streamlit's
# WebSocket, and an upload whose SHA-256 shows that every byte arrived.
import hashlib

import streamlit as st

st.title("hde streamlit")
name = st.text_input("Your name", key="name")
if name:
    st.write(f"hello, {name}")
upload = st.file_uploader("A file", key="upload")
if upload is not None:
    data = upload.getvalue()
    st.write(f"received {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
