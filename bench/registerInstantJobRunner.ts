// `node --import` preload for the scale benchmark's host: registers a module hook that resolves the app's
// src/jobs/createJobRunner.js to bench/instantJobRunner.js, so every job execution "archives" at once.
import { register } from "node:module";

register("./instantJobRunnerHooks.js", import.meta.url);
