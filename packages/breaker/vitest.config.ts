import { defineProject } from 'vitest/config';
import { project } from '../../vitest.shared';

export default defineProject(project('breaker'));
