"""The UI-free core: protocol, HTTP client, providers, secrets, storage and services. No Qt here."""
