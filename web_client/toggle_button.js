// A toggle button (microphone, camera): one name, its state in aria-pressed, an icon per state.

import { icon } from "./icons.js";

/**
 * A toggle button: a stable name ("Microphone"), aria-pressed = on, and the icon and tooltip
 * for the state it is in. A visible `.label` child, if any, says the state in words.
 */
export function toggleButton(button, on, what, onIcon, offIcon) {
  button.setAttribute("aria-pressed", on ? "true" : "false");
  button.setAttribute("aria-label", capitalize(what));
  button.title = on ? `Turn ${what} off` : `Turn ${what} on`;
  button.classList.toggle("off", !on);
  const label = button.querySelector(".label");
  button.replaceChildren(icon(on ? onIcon : offIcon));
  if (label) {
    label.textContent = on ? `${capitalize(what)} on` : `${capitalize(what)} off`;
    button.append(label);
  }
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
