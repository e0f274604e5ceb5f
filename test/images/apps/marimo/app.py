# A Marimo notebook for the gateway's tests: a text field whose change reruns the cell that reads it,
# over Marimo's WebSocket.
import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo

    return (mo,)


@app.cell
def _(mo):
    name = mo.ui.text(label="Your name")
    name
    return (name,)


@app.cell
def _(mo, name):
    mo.md(f"hello, {name.value}" if name.value else "waiting for a name")
    return


if __name__ == "__main__":
    app.run()
