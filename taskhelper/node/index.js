// schetask: the task helper for Node tasks, the successor of the seed's
// helper.js. schetask puts it on NODE_PATH, so a task writes
//
//   const { config, notify, publish } = require('schetask');
//
// config   the run's settings, so a task hard-codes nothing: taskName,
//          taskDir, publishDir, logFile, runId, version, scheduledTime, env.
// notify(message, {title})  raises the task's own alert to its owners
//          (the seed's notifyTaskRTX); resolves to {alertId, sent}.
// publish(['pre', 'prod'])  copies publish/ to the configured targets,
//          atomically (the seed's caePublish); resolves to [{target, path, files}].
//
// Both talk to the worker over the run's socket (SCHETASK_HELPER_SOCKET),
// one JSON line each way; see the README.
'use strict';
const net = require('net');

const env = process.env;

const config = Object.freeze({
  taskName: env.SCHETASK_TASK_NAME,
  taskDir: env.SCHETASK_TASK_DIR,
  publishDir: env.SCHETASK_PUBLISH_DIR,
  logFile: env.SCHETASK_LOG_FILE,
  runId: env.SCHETASK_RUN_ID ? Number(env.SCHETASK_RUN_ID) : undefined,
  workflowId: env.SCHETASK_WORKFLOW_ID,
  version: env.SCHETASK_TASK_VERSION,
  scheduledTime: env.SCHETASK_SCHEDULED_TIME,
  env,
});

function call(request) {
  return new Promise((resolve, reject) => {
    const socketPath = env.SCHETASK_HELPER_SOCKET;
    if (!socketPath) {
      reject(new Error('schetask: SCHETASK_HELPER_SOCKET is not set: not running under schetask'));
      return;
    }
    const conn = net.createConnection(socketPath);
    let buf = '';
    let done = false;
    const finish = (err, value) => {
      if (done) return;
      done = true;
      conn.destroy();
      if (err) reject(err); else resolve(value);
    };
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify(request) + '\n'));
    conn.on('data', (chunk) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let resp;
      try {
        resp = JSON.parse(buf.slice(0, nl));
      } catch (e) {
        finish(new Error('schetask: bad response: ' + e.message));
        return;
      }
      if (!resp.ok) finish(new Error('schetask: ' + request.op + ': ' + resp.error));
      else finish(null, resp);
    });
    conn.on('error', (e) => finish(new Error('schetask: ' + e.message)));
    conn.on('close', () => finish(new Error('schetask: connection closed without a response')));
  });
}

// notify raises the task's own alert.
async function notify(message, options = {}) {
  const resp = await call({ op: 'notify', message: String(message), title: options.title });
  return { alertId: resp.alert_id, sent: Boolean(resp.sent) };
}

// publish copies publish/ to the named targets.
async function publish(targets) {
  if (typeof targets === 'string') targets = [targets];
  const resp = await call({ op: 'publish', targets });
  return resp.published || [];
}

module.exports = { config, notify, publish, notifyTaskRTX: notify, caePublish: publish };
