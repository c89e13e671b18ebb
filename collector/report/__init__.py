"""The client report: a self-contained HTML page an MSP hands to a client at a quarterly review.

:mod:`~collector.report.gather` reads the figures from the store into :mod:`~collector.report.data`,
:mod:`~collector.report.charts` draws them with :mod:`~collector.report.svg`, and
:mod:`~collector.report.page` renders the page; ``saaswatch report`` (:mod:`~collector.report.command`)
writes it and remembers when, so the next report counts realised savings from there.
"""
