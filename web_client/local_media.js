// Your camera and microphone: acquisition with clear failure reasons, device choice, on/off.
//
// Turning the camera off stops its track (the camera light goes out); turning the mic off disables
// its track. Either way the peer connection's sender gets `null` (see sendTrack), so no RTP flows
// and the others see you as muted: no renegotiation is needed to switch back on.

import { Emitter } from "./events.js";

/** Why a device could not be used: each gets its own message in the UI. */
export const MediaProblem = Object.freeze({
  DENIED: "denied", // the user or the browser blocked access
  MISSING: "missing", // no such device
  BUSY: "busy", // another application holds it
  INSECURE: "insecure", // not https/localhost: no mediaDevices at all
  FAILED: "failed",
});

export const VIDEO_CONSTRAINTS = {
  width: { ideal: 640 },
  height: { ideal: 360 },
  frameRate: { ideal: 24, max: 30 },
};
const AUDIO_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

export function classify(error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return MediaProblem.DENIED;
    case "NotFoundError":
    case "OverconstrainedError":
    case "DevicesNotFoundError":
      return MediaProblem.MISSING;
    case "NotReadableError":
    case "AbortError":
    case "TrackStartError":
      return MediaProblem.BUSY;
    default:
      return MediaProblem.FAILED;
  }
}

/**
 * Events: "change" (tracks, on/off state or problems changed).
 * State: audioTrack/videoTrack (MediaStreamTrack or null), micOn/camOn, problems {audio, video}.
 */
export class LocalMedia extends Emitter {
  constructor() {
    super();
    this.audioTrack = null;
    this.videoTrack = null;
    this.micOn = true;
    this.camOn = true;
    this.audioDeviceId = localStorage.getItem("coshop.mic") || "";
    this.videoDeviceId = localStorage.getItem("coshop.camera") || "";
    this.problems = { audio: null, video: null };
    this.starting = false;
    this.stream = new MediaStream();
    this._audioContext = null;
    this._analyser = null;
    this._samples = null;
  }

  get supported() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  get hasAudio() {
    return this.audioTrack !== null;
  }

  /** Whether you can be on camera or mic at all (else you join as a viewer). */
  get canPublish() {
    return this.problems.audio === null || this.problems.video === null;
  }

  /**
   * Ask for camera and microphone. A missing or busy camera still gives audio-only (and the
   * other way round); a denial is final (browsers remember it). Returns this.problems.
   */
  async start() {
    if (!this.supported) {
      this.problems = { audio: MediaProblem.INSECURE, video: MediaProblem.INSECURE };
      this.emit("change", this);
      return this.problems;
    }
    this.problems = { audio: null, video: null };
    this.starting = true;
    this.emit("change", this);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: this._audioConstraints(),
        video: this._videoConstraints(),
      });
      this._setTrack("audio", stream.getAudioTracks()[0] || null);
      this._setTrack("video", stream.getVideoTracks()[0] || null);
    } catch (error) {
      const problem = classify(error);
      if (problem === MediaProblem.DENIED) {
        this.problems = { audio: problem, video: problem };
      } else {
        // One of the two may still work alone (e.g. a laptop without a camera).
        await this._tryAlone("audio");
        await this._tryAlone("video");
      }
    }
    if (this.audioTrack) this.audioTrack.enabled = this.micOn;
    this.starting = false;
    this.emit("change", this);
    return this.problems;
  }

  async _tryAlone(kind) {
    try {
      const constraints =
        kind === "audio" ? { audio: this._audioConstraints() } : { video: this._videoConstraints() };
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      this._setTrack(kind, stream.getTracks()[0] || null);
    } catch (error) {
      this.problems[kind] = classify(error);
    }
  }

  _audioConstraints(deviceId = this.audioDeviceId) {
    return deviceId ? { ...AUDIO_CONSTRAINTS, deviceId: { exact: deviceId } } : AUDIO_CONSTRAINTS;
  }

  _videoConstraints(deviceId = this.videoDeviceId) {
    return deviceId ? { ...VIDEO_CONSTRAINTS, deviceId: { exact: deviceId } } : VIDEO_CONSTRAINTS;
  }

  _setTrack(kind, track) {
    const old = kind === "audio" ? this.audioTrack : this.videoTrack;
    if (old === track) return;
    if (old) {
      old.stop();
      this.stream.removeTrack(old);
    }
    if (track) {
      this.stream.addTrack(track);
      // A device unplugged mid-call ends its track: reflect it instead of freezing.
      track.addEventListener("ended", () => {
        if ((kind === "audio" ? this.audioTrack : this.videoTrack) !== track) return;
        this._setTrack(kind, null);
        this.problems[kind] = MediaProblem.MISSING;
        this.emit("change", this);
      });
    }
    if (kind === "audio") {
      this.audioTrack = track;
      this._analyser = null;
    } else {
      this.videoTrack = track;
    }
  }

  /** The track to put on the publish slot of `kind`: null while off (no RTP is sent). */
  sendTrack(kind) {
    if (kind === "audio") return this.micOn ? this.audioTrack : null;
    return this.camOn ? this.videoTrack : null;
  }

  /** Cameras and microphones (labels appear once permission was given). */
  async devices() {
    if (!this.supported || !navigator.mediaDevices.enumerateDevices) {
      return { audioinput: [], videoinput: [] };
    }
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      audioinput: all.filter((d) => d.kind === "audioinput" && d.deviceId),
      videoinput: all.filter((d) => d.kind === "videoinput" && d.deviceId),
    };
  }

  /** The device id of the track in use (what a picker should show as selected). */
  currentDevice(kind) {
    const track = kind === "audio" ? this.audioTrack : this.videoTrack;
    const settings = track && track.getSettings ? track.getSettings() : {};
    return settings.deviceId || (kind === "audio" ? this.audioDeviceId : this.videoDeviceId);
  }

  /** Switch to another camera or microphone. */
  async useDevice(kind, deviceId) {
    if (kind === "audio") {
      this.audioDeviceId = deviceId;
      localStorage.setItem("coshop.mic", deviceId);
    } else {
      this.videoDeviceId = deviceId;
      localStorage.setItem("coshop.camera", deviceId);
      if (!this.camOn) {
        this.emit("change", this);
        return; // picked up when the camera goes back on
      }
    }
    await this._acquire(kind);
  }

  async _acquire(kind) {
    try {
      const constraints =
        kind === "audio" ? { audio: this._audioConstraints() } : { video: this._videoConstraints() };
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      const track = stream.getTracks()[0] || null;
      if (track && kind === "audio") track.enabled = this.micOn;
      this._setTrack(kind, track);
      this.problems[kind] = null;
    } catch (error) {
      this.problems[kind] = classify(error);
    }
    this.emit("change", this);
  }

  /** Microphone on/off (keeps the track, so switching back is instant). */
  setMic(on) {
    this.micOn = on;
    if (this.audioTrack) this.audioTrack.enabled = on;
    this.emit("change", this);
  }

  /** Camera on/off; off releases the camera so its light goes out. */
  async setCamera(on) {
    this.camOn = on;
    if (!on) {
      this._setTrack("video", null);
      this.emit("change", this);
      return;
    }
    await this._acquire("video");
  }

  /** Microphone loudness now, 0..1 (an AnalyserNode; 0 while muted). */
  level() {
    if (!this.audioTrack || !this.micOn) return 0;
    if (!this._analyser) {
      if (!window.AudioContext) return 0;
      this._audioContext ||= new AudioContext();
      const source = this._audioContext.createMediaStreamSource(new MediaStream([this.audioTrack]));
      this._analyser = this._audioContext.createAnalyser();
      this._analyser.fftSize = 512;
      source.connect(this._analyser);
      this._samples = new Float32Array(this._analyser.fftSize);
    }
    if (this._audioContext.state === "suspended") this._audioContext.resume().catch(() => {});
    this._analyser.getFloatTimeDomainData(this._samples);
    let sum = 0;
    for (const s of this._samples) sum += s * s;
    return Math.min(1, Math.sqrt(sum / this._samples.length) * 2);
  }

  /** Release the devices. */
  stop() {
    this._setTrack("audio", null);
    this._setTrack("video", null);
    if (this._audioContext) this._audioContext.close().catch(() => {});
    this._audioContext = null;
    this.emit("change", this);
  }
}
