/**
 * The faults section: a form that arms the next N requests of a path or key
 * to answer 412, 503, 410 or fail offline, and the list of armed faults.
 * Built once (so typing is never interrupted by a redraw); only the list is redrawn.
 */
import { h, fill } from './dom.js';
import { armedFaults, armFault, disarmFault, type FaultAnswer } from './faults.js';
import { hub } from './hub.js';

export const END_WARNING = 'A 410 ends the session in every tab: each client voids its versions and purges that epoch\u2019s outbox everywhere (writes not yet answered are lost). The server\u2019s session itself is not touched.';

export interface FaultsForm {
  readonly element: HTMLElement;
  redraw(): void;
}

export function faultsForm(confirm: (message: string) => boolean): FaultsForm {
  const kind = h('select', { 'data-testid': 'fault-kind', 'aria-label': 'match by' }, h('option', { value: 'path' }, 'path'), h('option', { value: 'key' }, 'key'));
  const target = h('input', { 'data-testid': 'fault-target', 'aria-label': 'path or key', placeholder: '/api/cart or cart', size: '18' });
  const answer = h('select', { 'data-testid': 'fault-answer', 'aria-label': 'answer' }, ...['412', '503', '410', 'offline'].map((value) => h('option', { value }, value === 'offline' ? 'offline' : `answer ${value}`)));
  const count = h('input', { 'data-testid': 'fault-count', 'aria-label': 'how many', type: 'number', min: '1', value: '1' });
  const arm = h('button', { 'data-testid': 'fault-arm', type: 'submit' }, 'Arm');
  const warning = h('div', { class: 'warn', hidden: '' }, END_WARNING);
  const problem = h('div', { class: 'warn', 'data-testid': 'fault-error' });
  const list = h('ul', { 'data-testid': 'fault-list' });
  const hint = h('div', { class: 'muted' });
  const form = h('form', {}, 'next', count, 'requests of', kind, target, answer, arm);
  answer.addEventListener('change', () => (warning.hidden = answer.value !== '410'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    problem.textContent = '';
    const chosen: FaultAnswer = answer.value === 'offline' ? 'offline' : (Number(answer.value) as FaultAnswer);
    if (chosen === 410 && !confirm(`${END_WARNING}\n\nArm it?`)) return;
    try {
      armFault(kind.value === 'path' ? { path: target.value.trim() } : { key: target.value.trim() }, chosen, Number(count.value));
    } catch (error) {
      problem.textContent = (error as Error).message;
    }
  });
  const redraw = () => {
    fill(list, ...armedFaults().map((fault) => {
      const button = h('button', { type: 'button', 'data-testid': 'fault-disarm' }, 'disarm');
      button.addEventListener('click', () => disarmFault(fault.id));
      const where = 'path' in fault.target ? `path ${fault.target.path}` : `key ${fault.target.key}`;
      return h('li', { 'data-testid': 'fault-armed' }, `${fault.answer} × ${fault.remaining} on ${where} `, button);
    }));
    // Faults need the requests to go through devtoolsFetch(): say so once requests were seen without it.
    const seen = [...hub.requests.values()];
    hint.textContent = seen.length && !seen.some((facts) => facts.url) ? 'No request went through devtoolsFetch(): pass createSessionClient({ fetch: devtoolsFetch() }) for faults.' : 'Faults apply to requests this tab makes, never to outbox replays.';
  };
  redraw();
  return { element: h('div', {}, form, warning, problem, list, hint), redraw };
}
