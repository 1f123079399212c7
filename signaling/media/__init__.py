"""The media plane: one WebRTC peer connection per participant to the server (aiortc), the floor gate, one
common Opus mix encoded once for every listener plus a mix-minus for each voice in the mix, and the
meeting's recording. See LIMITS.md for what aiortc does not do."""
