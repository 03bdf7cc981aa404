"""Switchboard: a desktop chat and media studio for OpenAI-compatible and Gemini endpoints."""

__version__ = "0.1.0"
