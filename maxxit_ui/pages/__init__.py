"""One module per page; each exposes a component function registered in maxxit_ui.maxxit_ui."""
