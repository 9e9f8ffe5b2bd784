"""Thin channels: turn a platform's updates into engine Events and render its Replies."""
