"""The live side: the WebSocket hub (protocol, fan-out, presence) and the WebRTC media plane."""
