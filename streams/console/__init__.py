"""The credit team's web console (``riskstream console``): portfolio, case inbox, order review
queue, customer pages and the collections worklist, read from Redis; people's actions are
published as review events to the reviews topic. See docs/console.md."""
