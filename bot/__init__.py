"""AVRR Assistant: a channel-agnostic conversation engine with Telegram and console channels."""

__version__ = "0.1.0"
