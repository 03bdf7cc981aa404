"""Tests of the wire formats: SSE decoding and each dialect's pure parsing and building."""
