"""The chat transcript: the message view, its model, the action rules and markdown rendering."""
