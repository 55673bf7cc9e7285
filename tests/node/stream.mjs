// Streams one chat completion with the official openai npm package and prints, as one JSON
// line, what the application saw: each chunk's offset (seconds since the request) and content,
// or the error the SDK raised. Driven by tests/test_serve_node.py.
import OpenAI from "openai";

const [baseURL] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "sk-node-test", maxRetries: 0, timeout: 20000 });
// Warm up Node's HTTP stack (its first fetch loads and connects lazily, ~70 ms) on the
// server's control API, so the offsets below measure the server, not Node's start-up.
await (await fetch(new URL("/__replay/", baseURL))).text();
const chunks = [];
const t0 = performance.now();
try {
  const stream = await client.chat.completions.create({
    model: "test-model",
    messages: [{ role: "user", content: "Say hello from the test server" }],
    stream: true,
  });
  for await (const chunk of stream) {
    chunks.push({ t: (performance.now() - t0) / 1000, content: chunk.choices[0]?.delta?.content ?? null });
  }
  console.log(JSON.stringify({ ok: true, chunks }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: err.constructor.name, message: String(err.message), chunks }));
}
