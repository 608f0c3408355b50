// A live room's own state, from the server's messages (PROTOCOL.md "Host controls", "A live
// room's audience", "A live room's viewer's own cart"): raised hands, slow mode, hidden chat
// messages, the audience count, each participant's stated microphone/camera, your own cart.
//
// Nothing here is a rule: what the server says is applied as it says it.

import { Emitter } from "./events.js";

/**
 * Events: "hands" (raised hands changed), "slow_mode" seconds, "hidden" (a chat message was
 * hidden), "audience" count, "own_cart" items, "muted" {participant_id, kind, by, you},
 * "role" {participant_id, role, you}, "counts" (a reaction_counts message), "change".
 */
export class LiveState extends Emitter {
  constructor() {
    super();
    this.youId = null;
    this.hands = new Set(); // viewer ids with a hand up (to a viewer: only itself)
    this.slowMode = 0;
    this.hiddenChat = new Set(); // seqs of chat messages a host hid
    this.audienceCount = 0;
    this.ownCart = []; // a live room's viewer's own cart (own_cart)
  }

  /** `joined` or `snapshot`: the room's fields replace what we had. */
  reset(message) {
    const room = message.room || {};
    this.youId = message.you ? message.you.id : null;
    this.hands = new Set(room.raised_hands || []);
    this.slowMode = room.slow_mode || 0;
    this.audienceCount = room.audience_count || 0;
    // A snapshot's chat history no longer holds hidden messages: nothing to remember.
    this.hiddenChat = new Set();
    // No "slow_mode" here: that event says the host changed it (a reset is not news).
    for (const name of ["hands", "audience", "change"]) this.emit(name, this);
  }

  get handRaised() {
    return this.youId !== null && this.hands.has(this.youId);
  }

  /** One server message that is not the call's or the shopping state's own. */
  apply(message) {
    switch (message.type) {
      case "hand_raised":
        if (message.raised) this.hands.add(message.participant_id);
        else this.hands.delete(message.participant_id);
        this.emit("hands", this);
        break;
      case "role_changed":
        // Up to the stage or back: a hand is lowered either way (the server does the same).
        this.hands.delete(message.participant_id);
        this.emit("hands", this);
        this.emit("role", { ...message, you: message.participant_id === this.youId });
        break;
      case "participant_left":
        if (this.hands.delete(message.participant_id)) this.emit("hands", this);
        break;
      case "slow_mode_changed":
        this.slowMode = message.seconds;
        this.emit("slow_mode", this.slowMode);
        break;
      case "chat_hidden":
        this.hiddenChat.add(message.message_seq);
        this.emit("hidden", message.message_seq);
        break;
      case "participant_muted":
        this.emit("muted", { ...message, you: message.participant_id === this.youId });
        break;
      case "reaction_counts":
        if (typeof message.audience_count === "number") this.setAudience(message.audience_count);
        this.emit("counts", message);
        break;
      case "own_cart":
        this.ownCart = message.items;
        this.emit("own_cart", this.ownCart);
        break;
      default:
        return;
    }
    this.emit("change", this);
  }

  setAudience(count) {
    this.audienceCount = count;
    this.emit("audience", count);
  }

  /** Units in your own cart. */
  get ownCartQuantity() {
    return this.ownCart.reduce((n, item) => n + item.quantity, 0);
  }
}
