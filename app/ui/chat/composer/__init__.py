"""The chat composer: the text box, its attachments and how they are picked."""
