// The sample registry content the demo seeds (and the orchestration tests reuse): a handful of small images
// that cover the shapes the archive must handle.
import type { ImageSpec } from "./fixtures.js";
import { smallImage } from "./fixtures.js";

export interface SampleImage {
  repositoryAndTag: string;
  image: ImageSpec | ImageSpec[];
}

export const SAMPLE_IMAGES: SampleImage[] = [
  { repositoryAndTag: "samples/hello:1.0", image: smallImage("hello") },
  { repositoryAndTag: "samples/hello:latest", image: smallImage("hello") },
  {
    repositoryAndTag: "samples/multiarch:2024.1",
    image: [
      { ...smallImage("amd64"), platform: { os: "linux", architecture: "amd64" } },
      { ...smallImage("arm64"), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ],
  },
  { repositoryAndTag: "samples/docker-schema2:v1", image: { ...smallImage("docker"), format: "docker" } },
  {
    repositoryAndTag: "team/app/api:build_42.rc-1",
    image: {
      layers: [
        { textBytes: 2 * 1024 * 1024 },
        { files: { "app/main.js": "console.log('api')\n" }, compression: "none" },
      ],
    },
  },
];
