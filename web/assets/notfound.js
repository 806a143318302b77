// The "page not found" page: the same header as every page (its links work without it).
import { mountHeader } from "./ui.js";

mountHeader();
