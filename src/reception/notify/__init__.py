"""Telling people in time: the outbox, webhooks, DingTalk / WeCom group robots, reminders."""
