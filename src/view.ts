/**
 * DOM rendering of the placeholder pipeline view.
 *
 * Text goes in through `textContent` only, never as HTML: step titles and server
 * messages come from files that anyone may have written.
 */

import { IStepRow, PipelineView, ValidationView } from './pipeline';

/**
 * Render the view-model of a pipeline file into a fresh element.
 */
export function renderPipelineView(view: PipelineView): HTMLElement {
  const root = element('div', 'jp-OrchestPipeline-view');
  if (view.kind === 'malformed') {
    root.append(
      element(
        'h2',
        'jp-OrchestPipeline-heading',
        'This pipeline cannot be shown'
      ),
      element('p', 'jp-OrchestPipeline-error', view.message),
      element(
        'p',
        'jp-OrchestPipeline-hint',
        'Fix the file in a text editor (right-click it in the file browser: Open With > Editor).'
      )
    );
    return root;
  }
  root.append(
    element('h1', 'jp-OrchestPipeline-name', view.name),
    element(
      'p',
      'jp-OrchestPipeline-hint',
      'A read-only overview; the visual pipeline editor is on its way.'
    ),
    element('h2', 'jp-OrchestPipeline-heading', 'Steps')
  );
  if (view.cycle.length > 0) {
    const loop = [...view.cycle, view.cycle[0]].join(' → ');
    root.append(
      element(
        'p',
        'jp-OrchestPipeline-error',
        `The steps form a cycle; the steps on it and after it cannot run: ${loop}`
      )
    );
  }
  root.append(
    view.steps.length === 0
      ? element('p', 'jp-OrchestPipeline-empty', 'No steps yet.')
      : renderSteps(view.steps),
    element('h2', 'jp-OrchestPipeline-heading', 'Validation'),
    renderValidation(view.validation)
  );
  return root;
}

function renderSteps(steps: readonly IStepRow[]): HTMLElement {
  const table = element('table', 'jp-OrchestPipeline-steps');
  const header = table.createTHead().insertRow();
  for (const label of ['#', 'Step', 'File', 'Runs after']) {
    header.append(element('th', '', label));
  }
  const body = table.createTBody();
  steps.forEach((step, index) => {
    const row = body.insertRow();
    row.dataset.stepUuid = step.uuid;
    if (step.blocked) {
      row.classList.add('jp-mod-blocked');
    }
    row.append(
      element('td', '', step.blocked ? '–' : String(index + 1)),
      element('td', '', step.title),
      element('td', 'jp-OrchestPipeline-filePath', step.filePath),
      element('td', '', step.parents.join(', '))
    );
  });
  return table;
}

function renderValidation(validation: ValidationView): HTMLElement {
  switch (validation.status) {
    case 'checking':
      return element('p', 'jp-OrchestPipeline-pending', 'Checking…');
    case 'unavailable':
      return element(
        'p',
        'jp-OrchestPipeline-error',
        `The server could not check this pipeline: ${validation.message}`
      );
    case 'checked': {
      if (validation.issues.length === 0) {
        return element('p', 'jp-OrchestPipeline-valid', 'No issues found.');
      }
      const list = element('ul', 'jp-OrchestPipeline-issues');
      for (const issue of validation.issues) {
        const item = element('li', '');
        item.append(
          element('span', 'jp-OrchestPipeline-issueSubject', issue.subject),
          ': ',
          issue.message
        );
        list.append(item);
      }
      return list;
    }
  }
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  if (className) {
    created.className = className;
  }
  if (text !== undefined) {
    created.textContent = text;
  }
  return created;
}
