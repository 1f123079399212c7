// The member's and the hall's audio: one peer connection to the server (never to other browsers).
// The microphone is asked for once, at "Tham gia", and stays muted (track disabled) unless this person has
// the floor and the chair has not muted them; the server is the real gate and mixes only the floor holder(s)
// and the hall, never a microphone the chair muted (a journaled command, read from the meeting state). Audio only (weak
// 3G links). Signalling rides on the live meeting's WebSocket as "rtc" frames (signaling/PROTOCOL.md).

const RETRY_MS = 3000;

export class MeetingMedia {
  constructor(live, audioElement, { role = 'member' } = {}) {
    this.live = live;
    this.audio = audioElement;
    this.role = role;
    this.stream = null;
    this.pc = null;
    this.micLive = false;
    this.hasMic = false;
    this.wanted = false; // connect() was called and stop() was not
    this.iceServers = null; // from the server's "config" answer (STUN/TURN for members behind NAT)
    this.configWaiters = [];
    this.onFrame = (event) => this.handleFrame(event.detail);
    this.onHubUp = () => this.connect(); // a new socket: the server dropped our peer with the old one
  }

  /** Browsers play sound only after a tap: call inside the click handler. */
  unlockAudio() {
    if (!this.audio) return;
    this.audio.muted = false;
    this.audio.play()?.catch?.(() => {});
  }

  /** Ask for the microphone: "granted", "denied" or "unavailable" (no device, or no secure context). */
  async requestMic() {
    if (!navigator.mediaDevices?.getUserMedia) return 'unavailable';
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        video: false,
      });
    } catch (error) {
      return error && error.name === 'NotAllowedError' ? 'denied' : 'unavailable';
    }
    this.hasMic = true;
    this.applyMic();
    return 'granted';
  }

  /** Open the microphone only while this person has the floor (the hall's stays open). */
  setMicLive(live) {
    this.micLive = live;
    this.applyMic();
  }

  applyMic() {
    const open = this.role === 'hall' || this.micLive;
    for (const track of this.stream?.getAudioTracks() || []) track.enabled = open;
  }

  /** Join the meeting's audio, now or as soon as the hub is up, and again after every reconnection. */
  start() {
    if (typeof RTCPeerConnection === 'undefined' || this.wanted) return;
    this.wanted = true;
    this.live.addEventListener('frame:rtc', this.onFrame);
    this.live.addEventListener('hub-up', this.onHubUp);
    if (this.live.hubUp) this.connect();
  }

  /** Make the peer connection and send its offer (the server answers over the hub). */
  async connect() {
    if (!this.wanted) return;
    this.closePeer();
    if (!this.iceServers) await this.askConfig();
    if (!this.wanted) return;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers || [] });
    this.pc = pc;
    const tracks = this.stream?.getAudioTracks() || [];
    if (tracks.length) for (const track of tracks) pc.addTrack(track, this.stream);
    else pc.addTransceiver('audio', { direction: 'recvonly' }); // listening only: no microphone here
    pc.addEventListener('track', (event) => {
      this.audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      this.audio.play()?.catch?.(() => {});
    });
    pc.addEventListener('icecandidate', (event) => {
      if (pc !== this.pc) return;
      const c = event.candidate;
      this.live.sendFrame({
        type: 'rtc',
        kind: 'candidate',
        candidate: c ? c.candidate : '',
        sdpMid: c ? c.sdpMid : null,
        sdpMLineIndex: c ? c.sdpMLineIndex : null,
      });
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc === this.pc && pc.connectionState === 'failed') this.retryLater();
    });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (!this.live.sendFrame({ type: 'rtc', kind: 'offer', sdp: offer.sdp })) this.retryLater();
  }

  /** The ICE servers to use, asked of the server before the first peer connection (2 s at most). */
  askConfig() {
    return new Promise((resolve) => {
      const done = () => resolve();
      this.configWaiters.push(done);
      if (!this.live.sendFrame({ type: 'rtc', kind: 'config' })) return done();
      setTimeout(done, 2000); // no answer: host candidates only (fine on the meeting's LAN)
    });
  }

  async handleFrame(frame) {
    if (frame.kind === 'config') {
      this.iceServers = Array.isArray(frame.ice_servers) ? frame.ice_servers : [];
      for (const done of this.configWaiters.splice(0)) done();
      return;
    }
    const pc = this.pc;
    if (!pc) return;
    try {
      if (frame.kind === 'answer' && pc.signalingState === 'have-local-offer') {
        await pc.setRemoteDescription({ type: 'answer', sdp: frame.sdp });
      } else if (frame.kind === 'closed') {
        // Replaced by this member's other tab, or the meeting ended: stay down. A lost link: try again.
        if (frame.reason === 'connection_lost') this.retryLater();
        else this.closePeer();
      } else if (frame.kind === 'error' && frame.for === 'offer') {
        this.live.emit('media-error', frame.error);
        if (frame.error?.code !== 'meeting_ended') this.retryLater(RETRY_MS * 3);
      }
    } catch {
      this.retryLater();
    }
  }

  retryLater(ms = RETRY_MS) {
    if (!this.wanted || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.wanted && this.live.hubUp) this.connect(); // else the next hub-up connects
    }, ms);
  }

  closePeer() {
    const pc = this.pc;
    this.pc = null;
    try {
      pc?.close();
    } catch {
      /* already closed */
    }
  }

  stop() {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.live.removeEventListener('frame:rtc', this.onFrame);
    this.live.removeEventListener('hub-up', this.onHubUp);
    if (this.pc) this.live.sendFrame({ type: 'rtc', kind: 'leave' });
    this.closePeer();
    for (const track of this.stream?.getTracks() || []) track.stop();
    this.stream = null;
  }
}
