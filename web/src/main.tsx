/** The panel's entry: styles, theme and language, then the app. */
import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { App } from "./app.js";
import { applyLanguage } from "./i18n/index.js";
import { applyTheme } from "./theme.js";

applyTheme();
applyLanguage();
render(<App />, document.getElementById("app")!);
