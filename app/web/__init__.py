"""The web hub: REST and Socket.IO over one controller."""
