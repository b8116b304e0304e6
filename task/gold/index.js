// gold: the example task, modelled on the seed system's. It fetches a
// (made-up) gold price, writes it to publish/, publishes it to the `prod`
// target, and raises its own alert when the price is above a threshold.
// schetask runs it as `node index.js` inside task/gold/, with the
// SCHETASK_* environment and the `schetask` helper module described in
// the README.
'use strict';
const fs = require('fs');
const path = require('path');
const { config, notify, publish } = require('schetask');

// GOLD_ALERT_ABOVE reaches the task when the worker lists it in SCHETASK_TASK_ENV.
const alertAbove = Number(config.env.GOLD_ALERT_ABOVE || 2345);

async function main() {
  const price = {
    symbol: 'XAU',
    currency: 'USD',
    price: Number((2300 + Math.random() * 50).toFixed(2)),
    scheduledTime: config.scheduledTime,
    version: config.version,
  };
  fs.mkdirSync(config.publishDir, { recursive: true });
  fs.writeFileSync(path.join(config.publishDir, 'gold_price.json'), JSON.stringify(price, null, 2) + '\n');
  console.log(`gold: price ${price.price} ${price.currency} for ${config.scheduledTime}`);

  const published = await publish(['prod']);
  for (const p of published) console.log(`gold: published ${p.files.join(', ')} to ${p.target} (${p.path})`);

  if (price.price > alertAbove) {
    const { sent } = await notify(`gold price ${price.price} ${price.currency} is above ${alertAbove}`);
    console.log(`gold: alert raised (${sent ? 'sent' : 'held back by the repeat limit'})`);
  }
  console.error('gold: this line goes to stderr, and so to the run row');
}

main().catch((err) => {
  console.error(`gold: ${err.stack || err}`);
  process.exit(101);
});
