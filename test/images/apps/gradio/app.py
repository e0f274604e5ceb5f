# A Gradio app for the gateway's tests: a button whose event goes through Gradio's queue and back.
# Its public prefix comes from PUBLIC_PREFIX (empty at the root of its own host); fonts are the
# system's, so the page asks nothing of another origin.
import os

import gradio as gr


def greet(name: str) -> str:
    return f"hello, {name}"


theme = gr.themes.Default(font=[gr.themes.Font("sans-serif")], font_mono=[gr.themes.Font("monospace")])
with gr.Blocks(title="hde gradio") as demo:
    name = gr.Textbox(label="Your name", elem_id="name")
    button = gr.Button("Greet", elem_id="greet")
    greeting = gr.Textbox(label="Greeting", elem_id="greeting")
    button.click(greet, inputs=name, outputs=greeting)

demo.launch(
    server_name="0.0.0.0",
    server_port=8888,
    root_path=os.environ.get("GRADIO_ROOT_PATH", ""),
    theme=theme,
    show_error=True,
)
