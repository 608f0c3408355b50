// The room as this client knows it: who is here, who you are, and the room's event seq.
//
// joined/snapshot replace the state; every later room event carries the next seq. A gap (an event
// whose seq is not the previous one + 1) means something was missed: the event is still applied,
// and the caller asks the server for a fresh snapshot (PROTOCOL.md, "resync").

import { Emitter } from "./events.js";

export const SeqCheck = Object.freeze({ NEXT: "next", GAP: "gap", OLD: "old" });

/** Events: "reset" (new snapshot), "joined" participant, "left" {participant, reason}, "change". */
export class RoomState extends Emitter {
  constructor() {
    super();
    this.clear();
  }

  clear() {
    this.room = null; // {id, capacity}
    this.you = null; // participant
    this.seq = 0;
    this.participants = new Map(); // id -> participant, in join order
  }

  get joined() {
    return this.you !== null;
  }

  /** Apply `joined` or `snapshot`. */
  reset(message) {
    this.room = message.room;
    this.you = message.you;
    this.seq = message.seq;
    this.participants = new Map(
      [...message.participants].sort((a, b) => a.joined_at - b.joined_at).map((p) => [p.id, p]),
    );
    this.emit("reset", this);
    this.emit("change", this);
  }

  /** Where an event with `seq` stands; NEXT and GAP advance the room's seq. */
  check(seq) {
    if (typeof seq !== "number") return SeqCheck.NEXT;
    if (seq <= this.seq) return SeqCheck.OLD;
    const result = seq === this.seq + 1 ? SeqCheck.NEXT : SeqCheck.GAP;
    this.seq = seq;
    return result;
  }

  addParticipant(participant) {
    this.participants.set(participant.id, participant);
    this.emit("joined", participant);
    this.emit("change", this);
  }

  removeParticipant(id, reason) {
    const participant = this.participants.get(id);
    if (!participant) return;
    this.participants.delete(id);
    this.emit("left", { participant, reason });
    this.emit("change", this);
  }

  /** A host moved someone between the stage and the audience (role_changed). */
  setRole(id, role) {
    const participant = this.participants.get(id);
    if (!participant || participant.role === role) return;
    this.participants.set(id, { ...participant, role });
    if (this.you && this.you.id === id) this.you = { ...this.you, role };
    this.emit("change", this);
  }

  get(id) {
    return this.participants.get(id) || null;
  }

  nameOf(id) {
    const p = this.participants.get(id);
    return p ? p.name : "someone";
  }

  /** Participants who may be on camera (everyone but viewers), in join order. */
  get onStage() {
    return [...this.participants.values()].filter((p) => p.role !== "viewer");
  }

  get viewers() {
    return [...this.participants.values()].filter((p) => p.role === "viewer");
  }

  /** Whether the server folds events for you (a live room's viewer): seq gaps are normal. */
  foldsEvents() {
    return Boolean(this.room && this.room.kind === "live" && this.you && this.you.role === "viewer");
  }

  /** Whether you may do host things (move the carousel in a host-led room, open votes). */
  get isHost() {
    return this.you !== null && (this.you.role === "host" || this.you.role === "admin");
  }
}
