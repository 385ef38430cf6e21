// The page's few form controls: VS Code-looking buttons and the search field, from
// @vscode-elements/elements (Lit web components, maintained; @vscode/webview-ui-toolkit, used
// before, is archived upstream). Only these two components are imported, so the bundle carries
// only them. Their styles are constructable stylesheets, which the page's strict CSP allows.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';

export type TextField = HTMLElement & { value: string };

export function button(label: string, cls: string, secondary = true): HTMLElement {
  const b = document.createElement('vscode-button');
  if (secondary) b.setAttribute('secondary', '');
  b.className = cls;
  b.textContent = label;
  return b;
}

export function textField(placeholder: string, ariaLabel: string, cls: string): TextField {
  const t = document.createElement('vscode-textfield') as TextField;
  t.setAttribute('placeholder', placeholder);
  t.setAttribute('aria-label', ariaLabel);
  t.className = cls;
  return t;
}
