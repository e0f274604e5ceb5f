#!/usr/bin/env node
// The published command runs the compiled CLI; in a checkout, `npm start` runs the sources.
await import('../dist/cli.js')
