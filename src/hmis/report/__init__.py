"""The district compliance report page: a self-contained HTML file per district and month."""
