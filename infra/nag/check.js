#!/usr/bin/env node
// Runs cdk-nag's AwsSolutions checks on every stack template of a synthesized cloud assembly.
//   node check.js [CDK_OUT_DIR]          (default ../cdk.out)
// cdk-nag has no .NET package, so the C# app is synthesized first and its templates are loaded here with
// CfnInclude. Suppressions are written in the C# stacks as resource metadata (cdk_nag.rules_to_suppress,
// each with a reason); this script turns each into a cdk-nag v3 acknowledgement on that resource.
// Exit code: 0 when no unsuppressed finding remains, 1 otherwise, 2 on a usage error.
'use strict';

const fs = require('fs');
const path = require('path');
const os = require('os');
// CfnInclude sets every property of a resource, deprecated ones included: silence jsii's deprecation notes.
process.env.JSII_DEPRECATED = 'quiet';
const { App, Stack, DefaultStackSynthesizer, Validations } = require('aws-cdk-lib');
const { CfnInclude } = require('aws-cdk-lib/cloudformation-include');
const { AwsSolutionsChecks } = require('cdk-nag');

const MIN_REASON_LENGTH = 10;

function main() {
  const assemblyDir = path.resolve(process.argv[2] || path.join(__dirname, '..', 'cdk.out'));
  const templates = fs.existsSync(assemblyDir)
    ? fs.readdirSync(assemblyDir).filter((f) => f.endsWith('.template.json')).sort()
    : [];
  if (templates.length === 0) {
    console.error(`cdk-nag: no *.template.json in ${assemblyDir}; run cdk synth first.`);
    return 2;
  }

  let failures = 0;
  for (const file of templates) {
    failures += checkTemplate(path.join(assemblyDir, file));
  }
  console.log(failures === 0
    ? `cdk-nag: AwsSolutions passed for ${templates.length} template(s).`
    : `cdk-nag: ${failures} unsuppressed finding(s) or invalid suppression(s).`);
  return failures === 0 ? 0 : 1;
}

/** Returns the number of problems in one template (0 = clean). */
function checkTemplate(templatePath) {
  const name = path.basename(templatePath, '.template.json');
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-nag-'));
  let problems = 0;
  try {
    const app = new App({ outdir, analyticsReporting: false });
    // The synthesized template already carries CDK's bootstrap-version parameter and rule; the wrapper
    // stack must not add its own (they would collide), and the check is about the included resources.
    const stack = new Stack(app, name, {
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    });
    const template = new CfnInclude(stack, 'Template', { templateFile: templatePath });
    problems += acknowledgeSuppressions(template, templatePath, name);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    try {
      app.synth();
      console.log(`cdk-nag: ${name}: no unsuppressed findings.`);
    } catch (err) {
      console.error(`cdk-nag: ${name}: ${err.message}`);
      problems += 1;
    }
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
  return problems;
}

/** Turns each resource's cdk_nag metadata into acknowledgements; returns the number of invalid ones. */
function acknowledgeSuppressions(template, templatePath, stackName) {
  const raw = JSON.parse(fs.readFileSync(templatePath, 'utf8'));
  let invalid = 0;
  for (const [logicalId, resource] of Object.entries(raw.Resources || {})) {
    const rules = resource.Metadata?.cdk_nag?.rules_to_suppress || [];
    if (rules.length === 0) continue;
    const construct = template.getResource(logicalId);
    for (const rule of rules) {
      if (typeof rule.id !== 'string' || typeof rule.reason !== 'string' || rule.reason.trim().length < MIN_REASON_LENGTH) {
        console.error(`cdk-nag: ${stackName}/${logicalId}: suppression ${JSON.stringify(rule)} needs an id and a reason of at least ${MIN_REASON_LENGTH} characters.`);
        invalid += 1;
        continue;
      }
      // cdk-nag v3 acknowledges each finding on its own: RuleId[FindingId].
      const ids = (rule.applies_to || []).length > 0 ? rule.applies_to.map((f) => `${rule.id}[${f}]`) : [rule.id];
      for (const id of ids) {
        Validations.of(construct).acknowledge({ id, reason: rule.reason });
        console.log(`cdk-nag: ${stackName}/${logicalId}: suppressed ${id}: ${rule.reason}`);
      }
    }
  }
  return invalid;
}

process.exitCode = main();
