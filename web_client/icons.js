// Inline SVG icons (24x24, stroke = currentColor); decorative: aria-hidden, the button labels speak.

const PATHS = {
  mic: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/>',
  micOff:
    '<path d="M15 9.5V6a3 3 0 0 0-5.6-1.5M9 9v2a3 3 0 0 0 4.6 2.5M5 11a7 7 0 0 0 11.3 5.5M19 11a7 7 0 0 1-.6 2.8M12 18v3M3 3l18 18"/>',
  cam: '<rect x="3" y="6" width="13" height="12" rx="2"/><path d="M16 10l5-3v10l-5-3z"/>',
  camOff:
    '<path d="M3 3l18 18M10 6h4a2 2 0 0 1 2 2v4l5-3v10l-3-1.8M16 16v0a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2"/>',
  leave:
    '<path d="M4 14c4-4 12-4 16 0l-2 3-3-1v-2.5a9 9 0 0 0-6 0V16l-3 1z" fill="currentColor" stroke="none"/>',
  link: '<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>',
  prev: '<path d="M15 5l-7 7 7 7"/>',
  next: '<path d="M9 5l7 7-7 7"/>',
  thumbUp:
    '<path d="M7 11v9H4v-9zM7 11l4-8a2 2 0 0 1 2 2v4h5.5a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 17.3 20H7"/>',
  thumbDown:
    '<path d="M17 13V4h3v9zM17 13l-4 8a2 2 0 0 1-2-2v-4H5.5a2 2 0 0 1-2-2.3l1.2-7A2 2 0 0 1 6.7 4H17"/>',
  send: '<path d="M4 12l16-8-6 16-2-6z"/>',
  users:
    '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20a6.5 6.5 0 0 1 13 0M16 4.5a3.5 3.5 0 0 1 0 7M18 14a6 6 0 0 1 3.5 6"/>',
  back: '<path d="M9 14l-5-5 5-5M4 9h10a6 6 0 0 1 0 12h-3"/>',
  eye: '<path d="M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z"/><circle cx="12" cy="12" r="3"/>',
  bag: '<path d="M5 8h14l-1 13H6zM9 8V6a3 3 0 0 1 6 0v2"/>',
  chat: '<path d="M4 5h16v11H9l-5 4z"/>',
  remote:
    '<rect x="8" y="2" width="8" height="20" rx="3"/><circle cx="12" cy="7" r="1.5"/><path d="M11 12h2M11 15h2M11 18h2"/>',
  sound: '<path d="M4 9h4l5-4v14l-5-4H4zM17 8a5 5 0 0 1 0 8M19.5 5.5a8.5 8.5 0 0 1 0 13"/>',
};

// The reactions, drawn (not emoji glyphs: a system without an emoji font shows boxes). Each is
// 24x24 in its own colours; the wire still carries the emoji (PROTOCOL.md, react).
const FACE = '<circle cx="12" cy="12" r="10" fill="#fbbf24"/>';
const REACTION_ART = {
  "❤️": {
    name: "heart",
    svg: '<path d="M12 21s-8-5.1-8-11a4.6 4.6 0 0 1 8-3.1A4.6 4.6 0 0 1 20 10c0 5.9-8 11-8 11z" fill="#ef4444"/>',
  },
  "😍": {
    name: "love it",
    svg:
      FACE +
      '<path d="M8 11.5s-2.6-1.6-2.6-3.3A1.4 1.4 0 0 1 8 7.4a1.4 1.4 0 0 1 2.6.8C10.6 9.9 8 11.5 8 11.5zM16 11.5s-2.6-1.6-2.6-3.3a1.4 1.4 0 0 1 2.6-.8 1.4 1.4 0 0 1 2.6.8c0 1.7-2.6 3.3-2.6 3.3z" fill="#e11d48"/>' +
      '<path d="M7.5 14.5a5 5 0 0 0 9 0z" fill="#7c2d12"/>',
  },
  "🔥": {
    name: "fire",
    svg:
      '<path d="M12 22c-4.4 0-7-2.9-7-6.6 0-3.6 2.6-5.7 4-8.4.5 1.7 1.5 2.6 2.5 3C11 7 12.5 4 15 2c0 3.3 4 6 4 11.2C19 18.8 16.4 22 12 22z" fill="#f97316"/>' +
      '<path d="M12 22c-2 0-3.5-1.4-3.5-3.4 0-2 1.6-3 2.4-4.6.4 1 1 1.5 1.7 1.7.1-1.6.9-3 2.1-3.9.3 2.4 1.8 3.6 1.8 6 0 2.4-2.1 4.2-4.5 4.2z" fill="#fde047"/>',
  },
  "👏": {
    name: "applause",
    svg:
      '<path d="M6 13l5-6.5a1.3 1.3 0 0 1 2 1.6L10.5 11l5-5.5a1.3 1.3 0 0 1 1.9 1.8l-4 4.6 4.6-4a1.3 1.3 0 0 1 1.7 2l-4.6 4.3 3-2.3a1.3 1.3 0 0 1 1.6 2l-5.3 4.6c-2.7 2.4-6.6 2.2-8.6-.4C4.6 16.6 4.7 14.7 6 13z" fill="#fbbf24" stroke="#b45309" stroke-width="1"/>' +
      '<path d="M4 6.5 2.5 5M6.5 4 6 2M2.5 9H1" stroke="#fbbf24" stroke-width="1.6" stroke-linecap="round"/>',
  },
  "😂": {
    name: "laughing",
    svg:
      FACE +
      '<path d="M6.5 9.5q1.5-2 3 0M14.5 9.5q1.5-2 3 0" stroke="#7c2d12" stroke-width="1.6" fill="none" stroke-linecap="round"/>' +
      '<path d="M6.5 13h11a5.5 5.5 0 0 1-11 0z" fill="#7c2d12"/><path d="M4 11.5c-1 1.3-1.3 2.6-.6 3.3.7.6 1.8 0 2.2-1.3zM20 11.5c1 1.3 1.3 2.6.6 3.3-.7.6-1.8 0-2.2-1.3z" fill="#38bdf8"/>',
  },
  "🤔": {
    name: "hmm",
    svg:
      FACE +
      '<circle cx="9" cy="9.5" r="1.2" fill="#7c2d12"/><circle cx="15" cy="9.5" r="1.2" fill="#7c2d12"/>' +
      '<path d="M9.5 15h5" stroke="#7c2d12" stroke-width="1.6" stroke-linecap="round"/>' +
      '<path d="M6 21.5c1-2.2 2.5-3.5 4.5-3.5h2a1.2 1.2 0 0 1 0 2.4H10" fill="#f59e0b" stroke="#b45309" stroke-width="1"/>',
  },
};

/** The reactions offered, in order: [{emoji, name}]. */
export const REACTIONS = Object.keys(REACTION_ART).map((emoji) => ({ emoji, name: REACTION_ART[emoji].name }));

/** A drawn reaction for `emoji` (an <svg>), or null for one we have no drawing of. */
export function reactionIcon(emoji, className = "reaction-icon") {
  const art = REACTION_ART[emoji];
  if (!art) return null;
  const span = document.createElement("span");
  span.innerHTML =
    `<svg class="${className}" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" ` +
    `focusable="false">${art.svg}</svg>`;
  return span.firstElementChild;
}

/** An <svg> element for icon `name`. */
export function icon(name, className = "icon") {
  const span = document.createElement("span");
  span.innerHTML =
    `<svg class="${className}" viewBox="0 0 24 24" width="24" height="24" fill="none" ` +
    `stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" ` +
    `aria-hidden="true" focusable="false">${PATHS[name]}</svg>`;
  return span.firstElementChild;
}
