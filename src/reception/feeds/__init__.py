"""Calendar feeds: secret, revocable token URLs serving RFC 5545 calendars of sessions."""
