// A streamed paragraph that never ends (a reply with no blank line, a long plain text) is one inline
// box: the browser breaks all of its lines again each time text is appended, so every append costs
// the length of the paragraph so far. Here the lines already complete are closed off: from time to
// time, everything from the start of the paragraph's last line on moves into a new block of the same
// kind just below it, so only that last block is laid out again by the appends that follow. The split
// is made at the exact start of a laid-out line, so nothing moves on screen (the two blocks meet with
// no margin between them, `ac-cut`); only after a change of width may one line end short.

//
// Closed blocks are then gathered into groups (`gather`): the browser lays out and paints a block's
// children one by one each time its last child grows, so a reply of 2,000 paragraphs would cost 2,000
// steps per append; in groups of GROUP_SIZE (contained, so an unchanged group is one step) it costs
// a few dozen.

// Characters appended to an open block before its complete lines are closed off. A block of this
// size lays out in well under a millisecond; larger means fewer splits, each a few layout reads.
export const CLOSE_AFTER = 1500;
const GROUP_SIZE = 32;

function top(node, start, end) {
  const range = document.createRange();
  range.setStart(node, start);
  range.setEnd(node, end);
  const rects = range.getClientRects();
  return rects.length ? rects[0].top : null;
}

function nodeTop(node) {
  if (node.nodeType === Node.TEXT_NODE) return node.length ? top(node, 0, 1) : null;
  const rects = node.getClientRects ? node.getClientRects() : [];
  return rects.length ? rects[0].top : null;
}

// The top of the block's last line: that of its last visible character.
function lastLineTop(block) {
  const last = block.lastChild;
  if (!last || last.nodeType !== Node.TEXT_NODE) return null;
  const text = last.data;
  let end = text.length;
  while (end > 0 && /\s/.test(text[end - 1])) end -= 1;
  return end ? top(last, end - 1, end) : null;
}

// Where the last line starts: [child, offset in it] (offset 0: the line starts with that child),
// or null when that is not at a text position (an inline element spans the line break).
function lastLineStart(block) {
  const lineTop = lastLineTop(block);
  if (lineTop === null) return null;
  const nodes = block.childNodes;
  // The last child that starts above the last line (tops grow with the index).
  let lo = 0;
  let hi = nodes.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = nodeTop(nodes[mid]);
    if (t !== null && t < lineTop - 1) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return null; // one line only
  const node = nodes[found];
  if (node.nodeType !== Node.TEXT_NODE) {
    // An element starting above the last line: it must end above it too, else it spans the break.
    const rects = node.getClientRects();
    if (!rects.length || rects[rects.length - 1].top >= lineTop - 1) return null;
    return found + 1 < nodes.length ? [nodes[found + 1], 0] : null;
  }
  // The first character of this text on the last line, if any; else the line starts with the next node.
  let a = 1;
  let b = node.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    const t = top(node, mid, mid + 1);
    if (t !== null && t >= lineTop - 1) b = mid;
    else a = mid + 1;
  }
  if (a < node.length) return [node, a];
  return found + 1 < nodes.length ? [nodes[found + 1], 0] : null;
}

// Closes off the complete lines of `block`: returns the new block that now holds its last line (to
// append to from now on), or null when there is nothing to close yet. Reads layout: call it before
// writing, when the layout of the last frame is still valid.
export function closeLines(block) {
  if (!block.isConnected) return null;
  const start = lastLineStart(block);
  if (start === null) return null;
  let [node, offset] = start;
  if (offset > 0) node = node.splitText(offset);
  const next = document.createElement(block.tagName);
  next.className = block.className;
  const moved = [];
  for (let n = node; n; n = n.nextSibling) moved.push(n);
  next.append(...moved);
  block.classList.add("ac-cut");
  block.after(next);
  return next;
}

// Gathers the closed blocks at the end of `container` (all but its last node, which may still grow)
// into groups of GROUP_SIZE, oldest first. A group takes the outer margins of its first and last
// block (they are zero inside it), so it collapses with its neighbours exactly as they did: nothing
// moves on screen. Reads style (two blocks a group), not layout.
export function gather(container) {
  const loose = [];
  for (let n = container.lastChild?.previousSibling; n && !n.classList?.contains("ac-group"); n = n.previousSibling)
    loose.push(n);
  loose.reverse();
  for (let at = 0; at + GROUP_SIZE <= loose.length; at += GROUP_SIZE) group(loose.slice(at, at + GROUP_SIZE));
}

function group(nodes) {
  const blocks = nodes.filter((n) => n.nodeType === Node.ELEMENT_NODE);
  const box = document.createElement("div");
  box.className = "ac-group";
  if (blocks.length) {
    box.style.marginTop = getComputedStyle(blocks[0]).marginTop;
    box.style.marginBottom = getComputedStyle(blocks[blocks.length - 1]).marginBottom;
  }
  nodes[0].before(box);
  box.append(...nodes);
}
