"""What runs in lab processes, and the dashboard's side of starting them."""
