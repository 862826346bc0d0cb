// Markdown for model output: marked turns it into HTML, DOMPurify keeps only inert HTML, and code
// blocks get a copy button. Model output is untrusted (a prompt can make a model write anything),
// so nothing it writes may run script, load frames or style the page.
//
// marked is a UMD script (vendor/marked/marked.min.js, loaded before this module) that sets
// globalThis.marked; DOMPurify is an ES module.

import DOMPurify from "/vendor/dompurify/purify.es.js";

const { marked } = globalThis;

marked.setOptions({
  gfm: true,
  breaks: false,
  // Ids from headings could clash with the page's own; mangling e-mail addresses only obscures them.
  headerIds: false,
  mangle: false,
});

const PURIFY = {
  USE_PROFILES: { html: true },
  // Forms and buttons could imitate the page's own controls; frames and embeds load other documents.
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option", "iframe", "frame", "object", "embed", "dialog"],
  // Inline styles can overlay the page (fake sign-in boxes); srcset is a second, unchecked URL.
  FORBID_ATTR: ["style", "srcset", "id", "name", "formaction"],
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    // Links leave the page and tell the other site nothing about it.
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
  if (node.tagName === "IMG") {
    node.setAttribute("loading", "lazy");
    node.setAttribute("referrerpolicy", "no-referrer");
  }
});

/** Untrusted markdown as a fragment of inert DOM, code blocks with a copy button. */
export function renderMarkdown(text) {
  const html = marked.parse(text ?? "");
  const fragment = DOMPurify.sanitize(html, PURIFY);
  for (const pre of fragment.querySelectorAll("pre")) decorateCodeBlock(pre);
  return fragment;
}

function decorateCodeBlock(pre) {
  const code = pre.querySelector("code");
  const language = [...(code?.classList ?? [])].find((name) => name.startsWith("language-"))?.slice(9) ?? "";
  const wrapper = document.createElement("div");
  wrapper.className = "code-block";
  const bar = document.createElement("div");
  bar.className = "code-bar";
  const label = document.createElement("span");
  label.className = "code-language";
  label.textContent = language || "code";
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "copy-code";
  copy.dataset.testid = "copy-code";
  copy.textContent = "Copy";
  copy.setAttribute("aria-label", `Copy ${language || "code"} to the clipboard`);
  bar.append(label, copy);
  pre.replaceWith(wrapper);
  wrapper.append(bar, pre);
}

/** Copies a code block's text; the button says whether it worked. Called from a click on `.copy-code`. */
export async function copyCodeBlock(button) {
  const text = button.closest(".code-block")?.querySelector("pre")?.textContent ?? "";
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    copied = copyWithSelection(text);
  }
  button.textContent = copied ? "Copied" : "Copy failed";
  button.dataset.copied = String(copied);
  clearTimeout(button.resetTimer);
  button.resetTimer = setTimeout(() => {
    button.textContent = "Copy";
    delete button.dataset.copied;
  }, 2000);
}

/** Where the Clipboard API is refused (no focus, an older browser): the selection and execCommand. */
function copyWithSelection(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}
