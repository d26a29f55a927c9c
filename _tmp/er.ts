import { exploreReady, formatExploration } from "../src/conformance/mod.ts";
console.log(formatExploration(exploreReady()));
