// gold: the example task, modelled on the seed system's. It fetches a
// (made-up) gold price, publishes it as JSON, and logs what it did.
// schetask runs it as `node index.js` inside task/gold/, with the
// SCHETASK_* environment described in the README.
'use strict';
const fs = require('fs');
const path = require('path');

const publishDir = process.env.SCHETASK_PUBLISH_DIR || path.join(__dirname, 'publish');
const scheduled = process.env.SCHETASK_SCHEDULED_TIME || new Date().toISOString();

const price = {
  symbol: 'XAU',
  currency: 'USD',
  price: Number((2300 + Math.random() * 50).toFixed(2)),
  scheduledTime: scheduled,
  version: process.env.SCHETASK_TASK_VERSION || null,
};

fs.mkdirSync(publishDir, { recursive: true });
fs.writeFileSync(path.join(publishDir, 'gold_price.json'), JSON.stringify(price, null, 2) + '\n');
console.log(`gold: published ${price.price} ${price.currency} for ${scheduled}`);
console.error('gold: this line goes to stderr, and so to the run row');
