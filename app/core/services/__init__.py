"""Use cases (chat, images, notes, videos) that own their async tasks; no Qt here."""
