/** Light, dark, or the system's choice; remembered in this browser only. */
export type Theme = "light" | "dark" | "system";
const STORAGE = "jmp.theme";

export function theme(): Theme {
  const saved = localStorage.getItem(STORAGE);
  return saved === "light" || saved === "dark" ? saved : "system";
}

export function applyTheme(choice: Theme = theme()): void {
  if (choice === "system") {
    localStorage.removeItem(STORAGE);
    delete document.documentElement.dataset.theme;
  } else {
    localStorage.setItem(STORAGE, choice);
    document.documentElement.dataset.theme = choice;
  }
}
