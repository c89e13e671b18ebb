"""The digest notifier: a weekly plain-language summary of a tenant's SaaS waste, for teams without
Alertmanager, sent to a Slack or Microsoft Teams incoming webhook or by SMTP e-mail.

``config`` holds the tenant's ``digest:`` block, ``content`` reads the figures from the store,
``render`` / ``slack`` / ``teams`` / ``email`` shape them for each channel, ``send`` delivers them
and ``state`` remembers what was sent. Nothing is imported here so that ``collector.config`` can
import :mod:`collector.digest.config` without pulling in the rest.
"""
