"""Notes indexing parts with no I/O policy of their own: scanning, extraction, chunking, vectors.

`scan` walks a folder with gitignore-style excludes; `extract` turns a file into text (PDFs in a
worker process with a time limit); `chunking` cuts text by structure into token-sized chunks
that remember their heading path and lines; `vectors` is the in-memory nearest-neighbour copy of
the vectors stored in SQLite. `app.core.services.notes` composes them.
"""
